//! The `push_feedback` Lambda: see `im_functions::by_name::push_feedback`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::push_feedback()).await
}
