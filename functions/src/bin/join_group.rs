//! The `join_group` Lambda: see `im_functions::by_name::join_group`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::join_group()).await
}
