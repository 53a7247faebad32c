//! The `thumbnail` Lambda: see `im_functions::by_name::thumbnail`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::thumbnail()).await
}
